"""What knows the .xlsx (and .ods, .xls) containers: the gate every returned file passes before it is
parsed (zip and XML bombs, encryption, truncation), cell decoding, streaming of huge sheets, fast reading
and patching of our own parts, bulk tables, A1 references.

May import `core`. Knows nothing of forms.
"""
