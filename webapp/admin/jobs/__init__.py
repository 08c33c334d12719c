"""Retrain jobs: one process per job, first in first out, state on disk as JSON.

- ``store``: the jobs folder: each job's state, log and search results files.
- ``liveness``: does anything of a job (its supervisor, its step's child) still run?
- ``launcher``: start a job's supervisor, cancel a job.
- ``supervisor``: ``python -m webapp.admin.jobs.supervisor FOLDER ID``, which
  waits for the jobs submitted before it, then runs the job's pipeline
  steps, each in a child process.

Every web worker, and a restarted server, reads the same files; a job of
which nothing runs any more reads as failed.
"""
