"""An AI job worker: takes a batch of job requests from its SQS queue, asks the model for
the job's feedback, writes each result to S3 (`<prefix><job>/<id>.json`, where the API reads
it), and reports the messages that failed so that SQS retries only those
(`ReportBatchItemFailures`); a message that keeps failing ends in the dead-letter queue."""

import json
import logging
import os

import boto3

import models

JOB = os.environ.get("JOB", "writing")
RESULTS_BUCKET = os.environ.get("RESULTS_BUCKET", "")
RESULTS_PREFIX = os.environ.get("RESULTS_PREFIX", "ai-results/")

log = logging.getLogger()
log.setLevel(logging.INFO)
_s3 = None

INSTRUCTIONS = {
    "writing": (
        "You are an IELTS examiner. Score the essay on Task Achievement, Coherence and "
        "Cohesion, Lexical Resource, and Grammatical Range and Accuracy (bands 0-9, halves "
        "allowed), then give three concrete improvements. Answer in JSON with keys "
        "scores, overall, improvements."
    ),
    "speaking": (
        "You are an IELTS speaking examiner. From the transcript, score Fluency and "
        "Coherence, Lexical Resource, Grammatical Range and Accuracy, and Pronunciation "
        "(as far as a transcript shows it), then give three concrete improvements. Answer "
        "in JSON with keys scores, overall, improvements."
    ),
    "flashcards": (
        "You make IELTS vocabulary flashcards. From the text, pick up to ten useful words "
        "or collocations for the requested band and answer in JSON: a list of objects with "
        "keys term, meaning, example."
    ),
}


def handler(event, context):
    """Lambda entry point for an SQS event source mapping."""
    failures = []
    for record in event.get("Records", []):
        try:
            process(json.loads(record["body"]))
        except Exception:  # noqa: BLE001 - one bad message must not fail the batch
            log.exception("message %s failed", record.get("messageId"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def process(message: dict) -> None:
    job_id = message["id"]
    request = message["input"]
    text = request.get("text") or request.get("transcript") or ""
    if not text:
        raise ValueError(f"job {job_id}: no text or transcript to assess")
    prompt = text
    if request.get("question"):
        prompt = f"Question: {request['question']}\n\nAnswer:\n{text}"
    if JOB == "flashcards" and request.get("band"):
        prompt = f"Target band: {request['band']}\n\n{prompt}"
    answer = models.complete(INSTRUCTIONS[JOB], prompt)
    result = {"id": job_id, "job": JOB, "status": "done", "model": models.MODEL_ID}
    try:
        result["result"] = json.loads(answer)
    except json.JSONDecodeError:
        result["result"] = {"text": answer}
    _results().put_object(
        Bucket=RESULTS_BUCKET,
        Key=f"{RESULTS_PREFIX}{JOB}/{job_id}.json",
        Body=json.dumps(result).encode(),
        ContentType="application/json",
    )
    log.info("job %s done", job_id)


def _results():
    global _s3
    if _s3 is None:
        _s3 = boto3.client("s3")
    return _s3
