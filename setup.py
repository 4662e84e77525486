"""Package discovery (the rest of the metadata is in pyproject.toml): every package under
mmviz/, plus models/ installed as `mmviz_models` (see [tool.setuptools.package-dir])."""
from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["mmviz", "mmviz.*"]), "mmviz_models"])
