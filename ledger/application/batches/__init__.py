"""The commands on a batch's credits, one module per kind, their shared plumbing in
:mod:`.common`."""
