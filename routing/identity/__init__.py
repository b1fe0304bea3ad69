"""Customer identity: which stored customer a contact, an import row or a search comes from.

Exact keys first (`addresses`), then Fellegi-Sunter matching over a blocking index
(`blocking`, `phonetic`, `profile`, `comparison`, `frequency`, `weights`, `training`,
`index`), kept up to date in each hub process by `directory`; `customers` loads the
stored customers, `csv_file` and `importing` import a CSV file, `merge` joins two of them
and undoes it, `cli` is `switchboard customers`.
"""
