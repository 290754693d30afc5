"""The two model providers a job can use: Amazon Bedrock (through boto3, which the Lambda
Python runtime includes) or Google Gemini (its REST API; the API key is read from Secrets
Manager at run time, once per warm container, never at deploy time)."""

import json
import os
import urllib.request

import boto3

PROVIDER = os.environ.get("MODEL_PROVIDER", "bedrock")  # bedrock | gemini
MODEL_ID = os.environ.get("MODEL_ID", "")
MAX_TOKENS = int(os.environ.get("MAX_TOKENS", "1024"))
GEMINI_URL = "https://generativelanguage.googleapis.com/v1beta/models/{model}:generateContent"

_bedrock = None
_gemini_key = None


def complete(system: str, prompt: str) -> str:
    """The model's answer to `prompt` under the `system` instructions."""
    if PROVIDER == "bedrock":
        return _bedrock_converse(system, prompt)
    if PROVIDER == "gemini":
        return _gemini_generate(system, prompt)
    raise ValueError(f"MODEL_PROVIDER must be bedrock or gemini, not {PROVIDER!r}")


def _bedrock_converse(system: str, prompt: str) -> str:
    global _bedrock
    if _bedrock is None:
        _bedrock = boto3.client("bedrock-runtime")
    answer = _bedrock.converse(
        modelId=MODEL_ID,
        system=[{"text": system}],
        messages=[{"role": "user", "content": [{"text": prompt}]}],
        inferenceConfig={"maxTokens": MAX_TOKENS, "temperature": 0.2},
    )
    return "".join(
        part.get("text", "") for part in answer["output"]["message"]["content"]
    )


def _gemini_generate(system: str, prompt: str) -> str:
    body = json.dumps(
        {
            "systemInstruction": {"parts": [{"text": system}]},
            "contents": [{"role": "user", "parts": [{"text": prompt}]}],
            "generationConfig": {"maxOutputTokens": MAX_TOKENS, "temperature": 0.2},
        }
    ).encode()
    request = urllib.request.Request(
        GEMINI_URL.format(model=MODEL_ID),
        data=body,
        headers={"content-type": "application/json", "x-goog-api-key": _gemini_api_key()},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    return "".join(
        part.get("text", "") for part in answer["candidates"][0]["content"]["parts"]
    )


def _gemini_api_key() -> str:
    global _gemini_key
    if _gemini_key is None:
        secrets = boto3.client("secretsmanager")
        _gemini_key = secrets.get_secret_value(SecretId=os.environ["GEMINI_SECRET_ARN"])[
            "SecretString"
        ].strip()
    return _gemini_key
