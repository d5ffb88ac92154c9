"""The feedback history report: gather the store, summarise, render as html, md, csv or json.

The pipeline is ``gather`` (store -> ``model.Snapshot``), ``summary`` (pure: snapshot and
scope -> ``model.Report``) and one ``render_*`` module per format (report -> text).
"""
