"""Retrain jobs: one process per job, one at a time, state on disk as JSON.

- ``store``: the jobs folder: each job's state, log and search results files.
- ``liveness``: is a job's supervisor process still running?
- ``launcher``: start a job's supervisor, cancel a job.
- ``supervisor``: ``python -m webapp.admin.jobs.supervisor FOLDER ID``, which
  runs the job's ``python -m training`` steps under the folder's lock.

Every web worker, and a restarted server, reads the same files; a job whose
supervisor died reads as failed.
"""
