"""Draw the book's favicon (book/_static/favicon.ico): the jamo ㅋ (k, for ko-embed-lab) on the house blue.

Pure geometry with PIL, no font, so the file is reproducible: ``python scripts/make_favicon.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "book" / "_static" / "favicon.ico"
BLUE, ORANGE, WHITE = "#3366CC", "#FF9900", "#FFFFFF"


def draw(size: int = 256) -> Image.Image:
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    s = size / 256
    d.rounded_rectangle((0, 0, size - 1, size - 1), radius=int(48 * s), fill=BLUE)
    w = int(30 * s)
    # ㅋ: a top bar that turns down, and a middle bar.
    d.rectangle((int(52 * s), int(48 * s), int(196 * s), int(48 * s) + w), fill=WHITE)
    d.rectangle((int(196 * s) - w, int(48 * s), int(196 * s), int(208 * s)), fill=WHITE)
    d.rectangle((int(52 * s), int(118 * s), int(196 * s), int(118 * s) + w), fill=WHITE)
    # a query point, in the figures' second colour
    r = int(28 * s)
    d.ellipse((int(80 * s) - r, int(180 * s) - r, int(80 * s) + r, int(180 * s) + r), fill=ORANGE)
    return img


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    draw().save(OUT, format="ICO", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
