using System.Globalization;
using System.Text;
using Testbed.Cli;
using Testbed.Results;

namespace Testbed.Report;

/// <summary>
/// Renders a <see cref="ResultDocument"/> as one self-contained HTML file: inline CSS and SVG,
/// nothing fetched. It reads top down the way a person asks: the verdict, then every failed
/// invariant (so a failure is visible without scrolling), then per scenario its parameters, its
/// metrics and the charts its runs have data for — residency timeline, migrations-per-page
/// histogram, throughput by policy, and one line chart per metric named in a result's
/// <c>curves</c> parameter against the run setting its <c>x_axis</c> parameter names (throughput
/// and evictions vs oversubscription, the bench's scaling curves) — and last each run's held
/// invariants, folded into a count that expands. A metrics table is laid out with the longer list
/// (runs or metrics) down the page, wraps long names, and scrolls inside its own box when it is
/// still wider than the page, so the page itself never scrolls sideways. A short inline script
/// counts the charts that were drawn into <c>body[data-charts-drawn]</c>, logs an error for any
/// that was not, and records the page's width and where the first failure is, which is what the
/// headless-browser test checks.
/// </summary>
public static class HtmlReport
{
    private const string Style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#111827;padding:0 16px}
        h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #e5e7eb}h3{font-size:15px;margin:16px 0 4px}
        table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #e5e7eb;padding:3px 8px;text-align:left;overflow-wrap:anywhere}
        th[scope=row]{white-space:nowrap;overflow-wrap:normal}td.num{text-align:right;font-variant-numeric:tabular-nums;overflow-wrap:normal;white-space:nowrap}.held{color:#15803d}.failed{color:#b91c1c;font-weight:600}
        .meta td:first-child{color:#6b7280}.charts{display:flex;flex-wrap:wrap;gap:12px}.wide{max-width:100%;overflow-x:auto}
        details{margin:2px 0}summary{cursor:pointer}
        svg.chart{background:#fff;border:1px solid #e5e7eb;max-width:100%;height:auto}svg .grid{stroke:#f3f4f6}svg .tick,svg .value{font-size:10px;fill:#4b5563}
        svg .axis{font-size:11px;fill:#374151}svg .title{font-size:13px;font-weight:600;fill:#111827}
        """;

    private const string Check = """
        (function(){var c=document.querySelectorAll('svg.chart'),d=0,b=document.body,e=document.documentElement,f=document.querySelector('.failure');
        c.forEach(function(s){var r=s.getBoundingClientRect();if(s.querySelectorAll('.mark').length>0&&r.width>0&&r.height>0){d++;}else{console.error('chart not drawn: '+s.getAttribute('aria-label'));}});
        b.setAttribute('data-charts',String(c.length));b.setAttribute('data-charts-drawn',String(d));
        b.setAttribute('data-scroll-width',String(e.scrollWidth));b.setAttribute('data-view-width',String(e.clientWidth));b.setAttribute('data-view-height',String(window.innerHeight));
        if(f){b.setAttribute('data-first-failure-bottom',String(Math.ceil(f.getBoundingClientRect().bottom+window.scrollY)));}})();
        """;

    /// <summary>The report.</summary>
    public static string Render(ResultDocument doc)
    {
        ArgumentNullException.ThrowIfNull(doc);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Testbed report</title><style>").Append(Style).Append("</style></head><body>");
        var all = doc.Scenarios.SelectMany(s => s.Runs.SelectMany(r => r.Invariants.Select(i => (Scenario: s.Scenario, Run: r.Name, Invariant: i)))).ToList();
        var failed = all.Where(x => !x.Invariant.Held).ToList();
        sb.Append(CultureInfo.InvariantCulture, $"<h1>Testbed: {Svg.Esc(doc.Command)} — <span class=\"{(doc.Held ? "held\">every invariant held" : $"failed\">{failed.Count} of {all.Count} invariants failed")}</span></h1>");
        sb.Append("<table class=\"meta\">");
        Row(sb, "accelerator", $"{doc.Accelerator.Backend}: {doc.Accelerator.Device} ({doc.Accelerator.Coherence} link)");
        Row(sb, "environment", $"{doc.Environment.Os}; {doc.Environment.Cpu}; {doc.Environment.Dotnet}; commit {doc.Environment.Commit}");
        Row(sb, "started", $"{doc.Started.ToString("u", CultureInfo.InvariantCulture)}, took {doc.DurationSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
        Row(sb, "invariants", $"{all.Count - failed.Count} of {all.Count} held");
        sb.Append("</table>");
        if (failed.Count > 0)
        {
            sb.Append("<h2 class=\"failed\">Failed invariants</h2><div class=\"wide\"><table><tr><th>scenario</th><th>run</th><th>invariant</th><th>detail</th></tr>");
            foreach (var (scenario, run, i) in failed)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<tr class=\"failure\"><td>{Svg.Esc(scenario)}</td><td>{Svg.Esc(run)}</td><td class=\"failed\">{Svg.Esc(i.Name)}</td><td>{Svg.Esc(i.Detail)}</td></tr>");
            }

            sb.Append("</table></div>");
        }

        foreach (var s in doc.Scenarios)
        {
            Scenario(sb, s);
        }

        sb.Append("<script>").Append(Check).Append("</script></body></html>");
        return sb.ToString();
    }

    private static void Scenario(StringBuilder sb, ScenarioResult s)
    {
        var verdict = s.Runs.All(r => r.Held) ? "<span class=\"held\">held</span>" : "<span class=\"failed\">failed</span>";
        sb.Append(CultureInfo.InvariantCulture, $"<h2>{Svg.Esc(s.Scenario)} — {verdict}</h2><p>{Svg.Esc(string.Join(", ", s.Parameters.Select(p => $"{p.Key}={p.Value}")))}</p>");
        Metrics(sb, s);
        sb.Append("<div class=\"charts\">");
        var throughput = s.Runs.Where(r => r.Metrics.ContainsKey("useful_ops_per_s")).Select(r => (r.Name, r.Metrics["useful_ops_per_s"].Value)).ToList();
        if (throughput.Count > 0)
        {
            sb.Append(BarChart.Render($"{s.Scenario}: throughput by policy", "useful ops/s", throughput));
        }

        if (s.Parameters.TryGetValue("x_axis", out var axis) && s.Parameters.TryGetValue("curves", out var curves))
        {
            var points = s.Runs
                .Select(r => (X: r.Settings.TryGetValue(axis, out var x) && double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN, r.Metrics))
                .Where(p => double.IsFinite(p.X))
                .OrderBy(p => p.X)
                .ToList();
            foreach (var metric in curves.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var line = points.Where(p => p.Metrics.ContainsKey(metric)).Select(p => (p.X, p.Metrics[metric].Value)).ToList();
                if (line.Count > 0)
                {
                    sb.Append(LineChart.Render($"{s.Scenario}: {metric} vs {axis}", axis, $"{metric} ({points.First(p => p.Metrics.ContainsKey(metric)).Metrics[metric].Unit})", [(metric, line)]));
                }
            }
        }

        foreach (var r in s.Runs.Where(r => r.MigrationsPerPage is { Count: > 0 }))
        {
            sb.Append(HistogramChart.Render($"{s.Scenario}/{r.Name}: migrations per page", r.MigrationsPerPage!));
        }

        foreach (var r in s.Runs.Where(r => r.Timeline is { Samples.Count: > 0 }))
        {
            sb.Append(TimelineChart.Render($"{s.Scenario}/{r.Name}: residency timeline", r.Timeline!));
        }

        sb.Append("</div><h3>Invariants</h3>");
        foreach (var r in s.Runs)
        {
            var held = r.Invariants.Where(i => i.Held).ToList();
            foreach (var i in r.Invariants.Where(i => !i.Held))
            {
                sb.Append(CultureInfo.InvariantCulture, $"<div>{Svg.Esc(r.Name)}: <span class=\"failed\">{Svg.Esc(i.Name)} failed</span> — {Svg.Esc(i.Detail)}</div>");
            }

            if (held.Count > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<details><summary>{Svg.Esc(r.Name)}: <span class=\"held\">{held.Count} of {r.Invariants.Count} held</span></summary><div class=\"wide\"><table><tr><th>invariant</th><th>detail</th></tr>");
                foreach (var i in held)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<tr><td class=\"held\">{Svg.Esc(i.Name)}</td><td>{Svg.Esc(i.Detail)}</td></tr>");
                }

                sb.Append("</table></div></details>");
            }
        }
    }

    /// <summary>
    /// The scenario's metrics as a table: one row per run and a column per metric, or, when there are
    /// more metrics than runs, one row per metric (with its unit) and a column per run, so the
    /// table grows down the page rather than across it.
    /// </summary>
    private static void Metrics(StringBuilder sb, ScenarioResult s)
    {
        var metrics = s.Runs.SelectMany(r => r.Metrics.Keys).Distinct().ToList();
        if (metrics.Count == 0)
        {
            return;
        }

        string Cell(PolicyRun r, string m) => $"<td class=\"num\">{(r.Metrics.TryGetValue(m, out var v) ? Svg.Esc(ResultConsole.Format(v)) : "-")}</td>";
        sb.Append("<div class=\"wide\"><table>");
        if (metrics.Count > s.Runs.Count)
        {
            sb.Append("<tr><th>metric</th>").AppendJoin(string.Empty, s.Runs.Select(r => $"<th>{Svg.Esc(r.Name)}</th>")).Append("</tr>");
            foreach (var m in metrics)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<tr><th scope=\"row\">{Svg.Esc(m)}</th>").AppendJoin(string.Empty, s.Runs.Select(r => Cell(r, m))).Append("</tr>");
            }
        }
        else
        {
            sb.Append("<tr><th>run</th>").AppendJoin(string.Empty, metrics.Select(m => $"<th>{Svg.Esc(m)}</th>")).Append("</tr>");
            foreach (var r in s.Runs)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<tr><th scope=\"row\">{Svg.Esc(r.Name)}</th>").AppendJoin(string.Empty, metrics.Select(m => Cell(r, m))).Append("</tr>");
            }
        }

        sb.Append("</table></div>");
    }

    private static void Row(StringBuilder sb, string key, string value) =>
        sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{Svg.Esc(key)}</td><td>{Svg.Esc(value)}</td></tr>");
}
