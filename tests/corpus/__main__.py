"""python -m tests.corpus --out corpus/ --n N [--invalid K] [--noise clean,mild,harsh]"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import cast

from lending.sandbox.documents import Noise
from tests.corpus import NOISES, cases, file_suffix


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.corpus", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("corpus"))
    parser.add_argument("--n", type=int, default=20, help="valid cases per noise level")
    parser.add_argument("--invalid", type=int, default=1, help="cases per invalid variant")
    parser.add_argument("--noise", default=",".join(NOISES))
    args = parser.parse_args(argv)
    noises = tuple(cast(Noise, n) for n in args.noise.split(",") if n)
    index = []
    for case in cases(args.n, noises=noises, invalid=args.invalid):
        folder = args.out / case.case_id
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        for kind, data in case.images.items():
            name = f"{kind}{file_suffix(data)}"
            (folder / name).write_bytes(data)
            files[str(kind)] = name
        truth = {**case.truth(), "files": files}
        (folder / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=2))
        index.append({"case_id": case.case_id, "variant": case.variant, "noise": case.noise})
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=2))
    print(f"wrote {len(index)} cases to {args.out}")


if __name__ == "__main__":
    main()
