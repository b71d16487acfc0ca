"""The case workbench: the safety reviewers' inbox, decisions with corrections and the audit trail.

`service.Workbench` is the seam ReviewFunction calls; `lifecycle` holds the status rules, `view`
what a reviewer or a viewer sees of a case, `models` the API's request and response models.
"""
