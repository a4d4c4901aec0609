"""A TF Serving REST client as users write it: requests + numpy, `instances` in, `predictions` out.

Usage: rest_client.py <base_url> <model_name> <input.npy>
Prints a JSON object with the predictions array and its shape.
"""
import json
import sys

import numpy as np
import requests


def main():
    base_url, model_name, input_path = sys.argv[1:4]
    arr = np.load(input_path)
    payload = {"signature_name": "serving_default", "instances": arr.tolist()}
    resp = requests.post(f"{base_url}/v1/models/{model_name}:predict", json=payload, timeout=30)
    resp.raise_for_status()
    predictions = np.array(resp.json()["predictions"], dtype=np.float64)

    status = requests.get(f"{base_url}/v1/models/{model_name}", timeout=30).json()
    versions = [s["version"] for s in status["model_version_status"] if s["state"] == "AVAILABLE"]

    print(json.dumps({
        "predictions": predictions.ravel().tolist(),
        "shape": list(predictions.shape),
        "available_versions": versions,
        "content_type": resp.headers.get("Content-Type"),
    }))


if __name__ == "__main__":
    main()
