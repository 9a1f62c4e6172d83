"""Installs deep_rnn_tf and the `deep-rnn` console command."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "deep_rnn_tf" / "_version.py").read_text()).group(1)

setup(
    name="deep_rnn_tf",
    version=VERSION,
    description=(
        "Deep recurrent networks for vision (Deep RNN Framework, CVPR 2019) on TensorFlow 2 / Keras 3"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["deep_rnn_tf", "deep_rnn_tf.*"]),
    install_requires=[
        # Keras 3.7-3.9 gave NaN losses under MirroredStrategy (keras#20568). The upper bound: two private
        # Keras APIs have no public equivalent (keras.src.backend.rnn, the loop DeepRNN's fast path runs;
        # Model._symbolic_build, the multi-worker build); tests/test_keras_private_apis.py fails loudly,
        # naming the API, on a Keras that changed them. Raise the bound once that test passes.
        "keras>=3.10,<3.16",
        "tensorflow>=2.16",
        # TF >= 2.21 no longer pulls in tensorboard; the TensorBoard callback needs it.
        "tensorboard",
        "numpy",
        "opencv-python-headless",
        "scikit-image",
        "imageio",  # GIFs of predicted frames (video files are read and written with OpenCV)
        "scipy",  # Gaussian windows of the SSIM metric
        "matplotlib",
        "tqdm",
    ],
    extras_require={
        "annotate": ["flask>=3"],  # `deep-rnn annotate`, the browser annotation tool
        "dev": ["pytest", "pytest-timeout", "ruff", "flask>=3", "playwright", "mlxtend"],
    },
    package_data={"deep_rnn_tf.app": ["static/*"]},
    entry_points={"console_scripts": ["deep-rnn=deep_rnn_tf.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
