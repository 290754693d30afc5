"""The AI API behind API Gateway (Lambda proxy integration, IAM auth): the backend posts a
job and gets its id at once (202), then reads the result when a worker has written it.

    POST /jobs/{job}        body: {"text": ..., "question": ...}  -> 202 {"id", "status"}
    GET  /jobs/{job}/{id}                                      -> 200 result | 202 pending
"""

import json
import logging
import os
import uuid

import boto3

QUEUES = json.loads(os.environ.get("QUEUES", "{}"))  # job -> queue URL
RESULTS_BUCKET = os.environ.get("RESULTS_BUCKET", "")
RESULTS_PREFIX = os.environ.get("RESULTS_PREFIX", "ai-results/")
MAX_BODY = 64 * 1024

log = logging.getLogger()
log.setLevel(logging.INFO)
_sqs = None
_s3 = None


def handler(event, context):
    """Lambda entry point for API Gateway's proxy integration."""
    params = event.get("pathParameters") or {}
    job = params.get("job", "")
    if job not in QUEUES:
        return _answer(404, {"error": f"unknown job {job!r}", "jobs": sorted(QUEUES)})
    caller = (event.get("requestContext") or {}).get("identity", {}).get("userArn")
    if event.get("httpMethod") == "POST":
        return _submit(job, event.get("body") or "", caller)
    if event.get("httpMethod") == "GET" and params.get("id"):
        return _result(job, params["id"])
    return _answer(405, {"error": "use POST /jobs/{job} or GET /jobs/{job}/{id}"})


def _submit(job: str, body: str, caller) -> dict:
    if len(body) > MAX_BODY:
        return _answer(413, {"error": f"the request is over {MAX_BODY} bytes"})
    try:
        request = json.loads(body)
    except json.JSONDecodeError:
        return _answer(400, {"error": "the body must be JSON"})
    if not isinstance(request, dict):
        return _answer(400, {"error": "the body must be a JSON object"})
    job_id = str(uuid.uuid4())
    global _sqs
    if _sqs is None:
        _sqs = boto3.client("sqs")
    _sqs.send_message(
        QueueUrl=QUEUES[job],
        MessageBody=json.dumps({"id": job_id, "job": job, "input": request}),
    )
    log.info("job %s %s queued for %s", job, job_id, caller)
    return _answer(202, {"id": job_id, "status": "queued"})


def _result(job: str, job_id: str) -> dict:
    try:
        uuid.UUID(job_id)
    except ValueError:
        return _answer(400, {"error": "a job id is a UUID"})
    global _s3
    if _s3 is None:
        _s3 = boto3.client("s3")
    try:
        got = _s3.get_object(Bucket=RESULTS_BUCKET, Key=f"{RESULTS_PREFIX}{job}/{job_id}.json")
    except _s3.exceptions.NoSuchKey:
        return _answer(202, {"id": job_id, "status": "pending"})
    return _answer(200, json.loads(got["Body"].read()))


def _answer(status: int, body: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
