"""``vhod schools import|bind|search`` and ``vhod roster import``: every bad row reported
with its line number (never the value), nothing written when any row is bad, exit 2."""

from __future__ import annotations

from pathlib import Path

SCHOOLS = """school_id;full_name;short_name;inn;ogrn;region_code;address;client_ids
sch-5;МБОУ «Школа № 5 имени Ёлкина»;Школа № 5;7712345671;1027700132195;77;г. Тестовск;demo-school
"""
HEADER = (
    "pupil_id,class,family_name,given_name,middle_name,birthdate,snils,"
    "certificate_series,certificate_number\n"
)
GOOD_ROSTER = (
    HEADER
    + """P1,2А,Тестов,Пётр,Андреевич,04.05.2017,112-233-445 95,IV-МЮ,000701
P2,3Б,Тестова,Мария,,2016-01-02,,ii-аг,001201
"""
)
BAD_ROSTER = (
    HEADER
    + """P1,2А,Тестов,Пётр,Андреевич,04.05.2017,112-233-445 95,IV-МЮ,000701
P2,3Б,Тестова,Мария,,2016-01-02,112-233-445 96,,
P3,3Б,,Иван,,2099-01-01,,XO044,555-777
"""
)


def test_schools_and_roster_import(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schools = tmp_path / "schools.csv"
    schools.write_text(SCHOOLS, encoding="utf-8")
    ok = run("schools", "import", str(schools))
    assert ok.exit_code == 0, ok.output
    assert "schools: 1 added" in ok.output
    found = run("schools", "search", "школа ёлкина")
    assert '"id": "sch-5"' in found.output

    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_ROSTER, encoding="utf-8")
    refused = run("roster", "import", "sch-5", str(bad))
    assert refused.exit_code == 2
    assert "line 3: snils:" in refused.output
    assert "line 4: family_name:" in refused.output
    assert "line 4: birthdate:" in refused.output
    assert "line 4: certificate_series:" in refused.output
    assert "112-233-445 96" not in refused.output
    assert "XO044" not in refused.output

    good = tmp_path / "good.csv"
    good.write_text(GOOD_ROSTER, encoding="utf-8")
    imported = run("roster", "import", "sch-5", str(good))
    assert imported.exit_code == 0, imported.output
    assert "roster: 2 added, 0 updated, 0 removed" in imported.output  # nothing from bad.csv
    again = run("roster", "import", "sch-5", str(good), "--upsert")
    assert "roster: 0 added, 2 updated" in again.output
    unknown = run("roster", "import", "no-such", str(good))
    assert unknown.exit_code == 2
    bound = run("schools", "bind", "sch-5", "library")
    assert bound.exit_code == 0, bound.output
