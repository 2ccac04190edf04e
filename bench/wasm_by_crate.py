"""Sums `twiggy top -f csv` rows by crate and by frontend page (stdin)."""
import collections
import csv
import re
import sys

rows = list(csv.DictReader(sys.stdin))
by_crate, by_page, total = collections.Counter(), collections.Counter(), 0
for r in rows:
    name, size = r['Name'], int(r['ShallowSize'])
    if 'subsection' in name or 'custom section' in name:
        continue
    total += size
    m = re.search(r'([a-z_][a-z0-9_]*)::', name.lstrip('<&*( '))
    by_crate[m.group(1) if m else name[:40]] += size
    p = re.search(r'frontend::pages::([a-z_]+)', name)
    if p:
        by_page[p.group(1)] += size
print(f'code and data: {total / 1024:.0f} KiB (names and custom sections left out)')
for k, v in by_crate.most_common(14):
    print(f'  {v / 1024:8.1f} KiB  {k}')
print('items named after a page (the views they build are mostly under tachys):')
for k, v in by_page.most_common(10):
    print(f'  {v / 1024:8.1f} KiB  {k}')
