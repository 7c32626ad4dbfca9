"""`python -m cnndemo predict`: read digits from image files, like the Draw page does.

Each image goes through the same preprocessing (crop, 20 px longer side, centre of
mass) and the same model as a drawing on the canvas. One bad file is an error for
that file only; the others still run. Exit status: 0 all read, 1 some files failed,
2 the checkpoint (or the command line) is unusable.
"""

from __future__ import annotations

import argparse
import json
import sys

from cnndemo.core import checkpoints, inference, preprocess


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cnndemo predict",
        description="Predict the digit in PNG/JPEG files (any size; RGBA, RGB or greyscale).",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to read")
    p.add_argument("--checkpoint", default=None,
                   help="model file (default: the shipped digits model, checkpoints/digits.pt)")
    p.add_argument("--json", action="store_true", help='one JSON line per image: {"image", "digit", "probs"}')
    return p


def predict_file(loaded: checkpoints.Loaded, path: str) -> dict:
    """The prediction for one image file, or {"image", "error"} when it cannot be read."""
    try:
        image = preprocess.preprocess(preprocess.load_image(path)).image
    except preprocess.ImageReadError as e:
        return {"image": path, "error": str(e)}
    except preprocess.DrawingError as e:
        return {"image": path, "error": f"{path}: {e}"}
    result = inference.run(loaded.model, image, loaded.spec, loaded.classes)
    pred = result.prediction
    return {
        "image": path,
        "digit": pred.top,
        "label": pred.label,
        "probs": [round(float(p), 6) for p in pred.probs],
    }


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage and the problem
        return int(e.code or 0)
    path = args.checkpoint or checkpoints.shipped_path("mnist")
    try:
        loaded = checkpoints.load(path)
    except checkpoints.CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = 0
    for image in args.images:
        out = predict_file(loaded, image)
        if "error" in out:
            failed += 1
            if args.json:
                print(json.dumps(out), flush=True)
            else:
                print(f"error: {out['error']}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps({"image": out["image"], "digit": out["digit"], "probs": out["probs"]}), flush=True)
        else:
            print(f"{image}: {out['label']} ({max(out['probs']):.1%})")
    return 1 if failed else 0
