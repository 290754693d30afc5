"""The example AI worker and API against the local AWS emulator: a job posted to the API
lands in its queue, the worker turns the message into a result in S3 (the model call is
replaced: the emulator has no model), the API hands the result back, and a bad message is
reported alone as a batch item failure.

Run by the Rust test suite (tests/it/workers.rs) with AWS_ENDPOINT_URL set to a moto server."""

import json
import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ai"))

import boto3  # noqa: E402

BUCKET = "bandup-test-results"


class AiJobs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = boto3.client("s3")
        cls.sqs = boto3.client("sqs")
        cls.s3.create_bucket(
            Bucket=BUCKET,
            CreateBucketConfiguration={"LocationConstraint": cls.s3.meta.region_name},
        )
        cls.queue = cls.sqs.create_queue(QueueName=f"writing-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        os.environ["QUEUES"] = json.dumps({"writing": cls.queue})
        os.environ["RESULTS_BUCKET"] = BUCKET
        os.environ["JOB"] = "writing"
        import api
        import models
        import worker

        cls.api, cls.models, cls.worker = api, models, worker
        api.QUEUES = {"writing": cls.queue}
        api.RESULTS_BUCKET = worker.RESULTS_BUCKET = BUCKET

    def call(self, method, job, body=None, job_id=None):
        params = {"job": job}
        if job_id:
            params["id"] = job_id
        answer = self.api.handler(
            {"httpMethod": method, "pathParameters": params, "body": body}, None
        )
        return answer["statusCode"], json.loads(answer["body"])

    def test_a_posted_job_is_assessed_by_the_worker_and_read_back(self):
        seen = []

        def model(system, prompt):
            seen.append((system, prompt))
            return json.dumps({"overall": 6.5})

        self.models.complete = model
        status, queued = self.call("POST", "writing", json.dumps({"text": "An essay."}))
        self.assertEqual(status, 202)
        status, pending = self.call("GET", "writing", job_id=queued["id"])
        self.assertEqual((status, pending["status"]), (202, "pending"))

        got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
        records = [
            {"messageId": m["MessageId"], "body": m["Body"]} for m in got.get("Messages", [])
        ]
        answer = self.worker.handler({"Records": records}, None)
        self.assertEqual(answer, {"batchItemFailures": []})
        self.assertEqual(len(seen), 1)
        self.assertIn("IELTS examiner", seen[0][0])

        status, result = self.call("GET", "writing", job_id=queued["id"])
        self.assertEqual(status, 200)
        self.assertEqual(result["result"], {"overall": 6.5})

    def test_a_bad_message_fails_alone(self):
        self.models.complete = lambda system, prompt: "{}"
        good = {"id": str(uuid.uuid4()), "job": "writing", "input": {"text": "x"}}
        bad = {"id": str(uuid.uuid4()), "job": "writing", "input": {}}
        answer = self.worker.handler(
            {
                "Records": [
                    {"messageId": "m-good", "body": json.dumps(good)},
                    {"messageId": "m-bad", "body": json.dumps(bad)},
                ]
            },
            None,
        )
        self.assertEqual(answer, {"batchItemFailures": [{"itemIdentifier": "m-bad"}]})

    def test_unknown_jobs_and_bad_bodies_are_refused(self):
        self.assertEqual(self.call("POST", "essays", "{}")[0], 404)
        self.assertEqual(self.call("POST", "writing", "not json")[0], 400)
        self.assertEqual(self.call("GET", "writing", job_id="nope")[0], 400)


if __name__ == "__main__":
    unittest.main()
