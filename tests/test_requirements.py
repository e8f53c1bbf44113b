"""requirements.txt (what the README command and the Space install) lists the package's own dependencies."""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _names(lines: list[str]) -> set[str]:
    names = set()
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            names.add(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_requirements_txt_lists_the_dependencies_and_the_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = _names(project["dependencies"] + extras["app"] + extras["sam2"] + extras["semantics"])
    listed = _names((ROOT / "requirements.txt").read_text().splitlines())
    assert listed == wanted


def test_every_install_path_adds_sam2_without_its_dependencies():
    readme = (ROOT / "README.md").read_text()
    commands = readme.split("```bash", 1)[1].split("```", 1)[0].strip().splitlines()
    dockerfile = (ROOT / "Dockerfile").read_text()
    for text in (commands[0], commands[1], dockerfile):
        assert "SAM2_BUILD_CUDA=0" in text and "--no-deps --no-build-isolation sam2==1.1.0" in text.replace(
            "--no-build-isolation --no-deps", "--no-deps --no-build-isolation"
        )
