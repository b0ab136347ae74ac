"""Write the sample images of this folder from one clive-dev photograph.

The source is ``images/844.JPG`` of ../shared/data/clive-dev (``844.JPG`` of
the LIVE In the Wild Image Quality Challenge Database; see
``LIVE_COPYRIGHT_README.txt``). Its central 320x320 pixels (offset 96, on
the JPEG block grid) are damaged at two strengths each: Gaussian blur,
Gaussian noise and JPEG compression. Run from the repository root::

    python examples/images/make_images.py [CLIVE_DEV_FOLDER]
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "data" / "clive-dev"
BOX = (96, 96, 416, 416)


def noisy(image: Image.Image, sigma: float, seed: int) -> Image.Image:
    """Add i.i.d. Gaussian noise of standard deviation ``sigma`` per channel."""
    pixels = np.asarray(image, dtype=np.float64)
    noise = np.random.default_rng(seed).normal(0.0, sigma, pixels.shape)
    return Image.fromarray(np.clip(np.round(pixels + noise), 0, 255).astype(np.uint8))


def main(folder: Path) -> None:
    source = Image.open(folder / "images" / "844.JPG").convert("RGB").crop(BOX)
    samples = {
        "0-original.jpg": (source, 95),
        "1-blur-light.jpg": (source.filter(ImageFilter.GaussianBlur(1.5)), 95),
        "2-blur-strong.jpg": (source.filter(ImageFilter.GaussianBlur(4)), 95),
        "3-noise-light.jpg": (noisy(source, 15, seed=0), 80),
        "4-noise-strong.jpg": (noisy(source, 40, seed=1), 80),
        "5-jpeg-light.jpg": (source, 12),
        "6-jpeg-strong.jpg": (source, 4),
    }
    for name, (image, quality) in samples.items():
        image.save(HERE / name, "JPEG", quality=quality)
        print(f"{name}\t{(HERE / name).stat().st_size / 1024:.1f} KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
