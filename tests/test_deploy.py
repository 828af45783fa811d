"""The image builds from locked dependencies: constraints.txt pins every runtime dependency of
pyproject.toml, within its range, and names no machine's package index (the Docker build has none)."""

import os
import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGENERATE = "regenerate constraints.txt as the README says (Running it for a team)"


def read(name: str) -> str:
    with open(os.path.join(REPO, name), encoding="utf-8") as f:
        return f.read()


def pins() -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$", read("constraints.txt"), re.M)
    return {canonicalize_name(name): version for name, version in found}


def test_constraints_pin_every_runtime_dependency_within_its_range():
    locked = pins()
    for text in tomllib.loads(read("pyproject.toml"))["project"]["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in constraints.txt: {REGENERATE}"
        assert requirement.specifier.contains(locked[name], prereleases=True), f"{name}=={locked[name]}: {REGENERATE}"


def test_constraints_are_only_pins():
    """No index URL, local path or unpinned line: the file works on any machine and in the image."""
    text = read("constraints.txt")
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[\w.!+-]+", line) for line in lines), lines
    assert "file:" not in text and "--" not in "".join(lines)


def test_the_image_installs_from_the_constraints():
    dockerfile = read("Dockerfile")
    assert re.search(r"^COPY constraints\.txt ", dockerfile, re.M)
    assert re.search(r"^RUN pip wheel .*-c constraints\.txt \.$", dockerfile, re.M)
    assert re.search(r"^RUN pip install .*--no-index /wheels/\*\.whl", dockerfile, re.M)
