"""SageMaker: the training entry point and the SDK jobs (train, tune, deploy, delete)."""
