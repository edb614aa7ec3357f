"""`python -m infra.localcloud`: serve the local cloud until interrupted (`make serve`)."""

from __future__ import annotations

import argparse
import signal
import threading

from infra.localcloud.cloud import LocalCloud


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalCloud.start(log_level=args.log_level) as cloud:
        print(f"local cloud up in {cloud.started_in_seconds:.2f} s")
        print(f"  open {cloud.api_url}/  (the front ends and the API, one address)")
        print(f"  H5 app             {cloud.api_url}/h5/")
        print(f"  staff console      {cloud.api_url}/console/  (reviewer or finance)")
        print(f"  mini-program API   {cloud.api_url}/v1  (try {cloud.api_url}/v1/products)")
        print(f"  document uploads   {cloud.s3_url}")
        print(f"  partner banks      {', '.join(cloud.banks)} (pulling their FIFO queues)")
        print('  sandbox login      POST /v1/sessions {"code": "any", "role": "applicant"}')
        print("Ctrl-C to stop.")
        stop.wait()
    print("stopped")


if __name__ == "__main__":
    main()
