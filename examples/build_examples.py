"""Rebuild the demo's examples: ``python examples/build_examples.py [--source ../shared/data/examples_real]``.

Real clips are trimmed to their first seconds and downsized (640 px wide, 10 fps: what the demo tracks on a CPU)
from the permissively licensed originals; the synthetic ``ball_touch`` clip (exact ground truth) is rendered by
``click2graph.synth``. Writes ``<name>.mp4``, ``thumbs/<name>.jpg`` (the first frame with the preset click) and
``manifest.json`` here; ``ATTRIBUTION.md`` states where each real clip comes from.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from click2graph import synth
from click2graph.video import VideoPolicy, load_video, write_video

HERE = Path(__file__).resolve().parent
CREDIT = "EdgeTAM repository (facebookresearch/EdgeTAM), Apache License 2.0"
# name, source file, seconds kept, preset click (x, y, frame) in the shipped clip's pixels, title, description
REAL = [
    ("pingpong", "06_pingpong.mp4", 6.0, (467, 167, 0), "Table tennis",
     "A player in a white shirt returns the ball with a paddle over the table."),
    ("dog_training", "14_social_dog_training.mp4", 6.0, (180, 240, 39), "Training a dog",
     "A small dog jumps around its trainer's legs on the lawn."),
    ("cyclist", "19_cyclist.mp4", 6.0, (273, 200, 0), "A cyclist on a coast road",
     "A rider in blue pedals a road bike along the guard rail."),
    ("dog_skateboard", "22_dogskateboarder.mp4", 6.0, (573, 287, 0), "Dog and skateboard",
     "A dog on a leash trots beside a person riding a longboard."),
    ("cups", "02_cups.mp4", 6.0, (400, 80, 0), "Moving cups",
     "A person lifts and moves red cups around a ball on a table."),
]  # fmt: skip
SYNTHETIC = "ball_touch"
WIDTH, FPS = 640, 10.0


def build(source: Path, out: Path = HERE) -> list[dict]:
    (out / "thumbs").mkdir(parents=True, exist_ok=True)
    manifest = []
    for name, file, seconds, click, title, description in REAL:
        video = load_video(source / file, VideoPolicy(max_duration_s=seconds, max_side=WIDTH, target_fps=FPS))
        write_video(out / f"{name}.mp4", video.frames, video.fps)
        _thumbnail(video.frames[click[2]], click, out / "thumbs" / f"{name}.jpg")
        manifest.append(_entry(name, title, description, click, credit=CREDIT))
    with tempfile.TemporaryDirectory() as tmp:
        (entry,) = json.loads(synth.write_examples(tmp, [SYNTHETIC]).read_text())
        (Path(tmp) / entry["file"]).replace(out / entry["file"])
    video = load_video(out / entry["file"])
    _thumbnail(video.frames[0], entry["click"], out / "thumbs" / f"{SYNTHETIC}.jpg")
    entry.update(
        title="Synthetic: walk up to a ball",
        thumbnail=f"thumbs/{SYNTHETIC}.jpg",
        credit="rendered by click2graph.synth (exact ground truth)",
    )
    manifest.append(entry)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _entry(name: str, title: str, description: str, click, credit: str) -> dict:
    return {
        "name": name,
        "file": f"{name}.mp4",
        "title": title,
        "description": description,
        "click": list(click),
        "thumbnail": f"thumbs/{name}.jpg",
        "credit": credit,
    }


def _thumbnail(frame, click, path: Path, width: int = 240) -> None:
    image = Image.fromarray(frame)
    scale = width / image.width
    image = image.resize((width, round(image.height * scale)), Image.BILINEAR)
    x, y, r = click[0] * scale, click[1] * scale, 5
    draw = ImageDraw.Draw(image)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=(40, 200, 80), outline=(255, 255, 255), width=2)
    image.save(path, quality=85)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=HERE.parents[1] / "shared" / "data" / "examples_real")
    args = parser.parse_args()
    for item in build(args.source):
        size = (HERE / item["file"]).stat().st_size / 2**20
        print(f"{item['name']:16} {size:5.2f} MB  click {item['click']}  {item['title']}")
