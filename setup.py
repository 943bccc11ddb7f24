"""Maps the top-level templates/ and example-project/ into the wheel; metadata is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["adapterctl", "adapterctl.*"]) + ["adapterctl.templates", "adapterctl.example"],
    package_dir={"adapterctl.templates": "templates", "adapterctl.example": "example-project"},
)
