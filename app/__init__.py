"""The Qt layer of the LeNet digit trainer: widgets, the worker thread and the main window."""
