# The grading image for `nlpcourse grade --sandbox docker|podman`: the course's pinned
# requirements and nothing else. Learner notebooks run in it, one container per submission,
# with no network; the nlpcourse package and the data mirror are mounted read-only at run time.
# Build at the repository root (the tag follows requirements.txt; `nlpcourse grade` says which):
#   docker build -f docker/grader.Dockerfile -t nlpcourse-grader:<tag> .
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
# torch's CPU build (the default index would pull the CUDA build of the pinned version)
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
# No user of its own: the grader chooses an unprivileged --user for each container.
WORKDIR /tmp
