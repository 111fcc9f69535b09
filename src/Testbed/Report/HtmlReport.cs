using System.Globalization;
using System.Text;
using Testbed.Cli;
using Testbed.Results;

namespace Testbed.Report;

/// <summary>
/// Renders a <see cref="ResultDocument"/> as one self-contained HTML file: inline CSS and SVG,
/// nothing fetched. It holds the verdict, the invariants table, and per scenario a metrics table
/// and the charts its runs have data for — residency timeline, migrations-per-page histogram,
/// throughput by policy, and one line chart per metric named in a result's <c>curves</c> parameter
/// against the run setting its <c>x_axis</c> parameter names (throughput and evictions vs
/// oversubscription, the bench's scaling curves). A short inline script counts
/// the charts that were drawn into <c>body[data-charts-drawn]</c> and logs an error for any that
/// was not, which is what the headless-browser test checks.
/// </summary>
public static class HtmlReport
{
    private const string Style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#111827;padding:0 16px}
        h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #e5e7eb}
        table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #e5e7eb;padding:3px 8px;text-align:left}
        td.num{text-align:right;font-variant-numeric:tabular-nums}.held{color:#15803d}.failed{color:#b91c1c;font-weight:600}
        .meta td:first-child{color:#6b7280}.charts{display:flex;flex-wrap:wrap;gap:12px}
        svg.chart{background:#fff;border:1px solid #e5e7eb}svg .grid{stroke:#f3f4f6}svg .tick,svg .value{font-size:10px;fill:#4b5563}
        svg .axis{font-size:11px;fill:#374151}svg .title{font-size:13px;font-weight:600;fill:#111827}
        """;

    private const string Check = """
        (function(){var c=document.querySelectorAll('svg.chart'),d=0;
        c.forEach(function(s){var r=s.getBoundingClientRect();if(s.querySelectorAll('.mark').length>0&&r.width>0&&r.height>0){d++;}else{console.error('chart not drawn: '+s.getAttribute('aria-label'));}});
        document.body.setAttribute('data-charts',String(c.length));document.body.setAttribute('data-charts-drawn',String(d));})();
        """;

    /// <summary>The report.</summary>
    public static string Render(ResultDocument doc)
    {
        ArgumentNullException.ThrowIfNull(doc);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Testbed report</title><style>").Append(Style).Append("</style></head><body>");
        var invariants = doc.Scenarios.SelectMany(s => s.Runs.SelectMany(r => r.Invariants)).ToList();
        sb.Append(CultureInfo.InvariantCulture, $"<h1>Testbed: {Svg.Esc(doc.Command)} — <span class=\"{(doc.Held ? "held\">every invariant held" : "failed\">invariants failed")}</span></h1>");
        sb.Append("<table class=\"meta\">");
        Row(sb, "accelerator", $"{doc.Accelerator.Backend}: {doc.Accelerator.Device} ({doc.Accelerator.Coherence} link)");
        Row(sb, "environment", $"{doc.Environment.Os}; {doc.Environment.Cpu}; {doc.Environment.Dotnet}; commit {doc.Environment.Commit}");
        Row(sb, "started", $"{doc.Started.ToString("u", CultureInfo.InvariantCulture)}, took {doc.DurationSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
        Row(sb, "invariants", $"{invariants.Count(i => i.Held)} of {invariants.Count} held");
        sb.Append("</table>");

        sb.Append("<h2>Invariants</h2><table><tr><th>scenario</th><th>run</th><th>invariant</th><th>held</th><th>detail</th></tr>");
        foreach (var s in doc.Scenarios)
        {
            foreach (var r in s.Runs)
            {
                foreach (var i in r.Invariants)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{Svg.Esc(s.Scenario)}</td><td>{Svg.Esc(r.Name)}</td><td>{Svg.Esc(i.Name)}</td><td class=\"{(i.Held ? "held\">yes" : "failed\">NO")}</td><td>{Svg.Esc(i.Detail)}</td></tr>");
                }
            }
        }

        sb.Append("</table>");
        foreach (var s in doc.Scenarios)
        {
            Scenario(sb, s);
        }

        sb.Append("<script>").Append(Check).Append("</script></body></html>");
        return sb.ToString();
    }

    private static void Scenario(StringBuilder sb, ScenarioResult s)
    {
        sb.Append(CultureInfo.InvariantCulture, $"<h2>{Svg.Esc(s.Scenario)}</h2><p>{Svg.Esc(string.Join(", ", s.Parameters.Select(p => $"{p.Key}={p.Value}")))}</p>");
        var metrics = s.Runs.SelectMany(r => r.Metrics.Keys).Distinct().ToList();
        sb.Append("<table><tr><th>run</th>");
        foreach (var m in metrics)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<th>{Svg.Esc(m)}</th>");
        }

        sb.Append("</tr>");
        foreach (var r in s.Runs)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{Svg.Esc(r.Name)}</td>");
            foreach (var m in metrics)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<td class=\"num\">{(r.Metrics.TryGetValue(m, out var v) ? Svg.Esc(ResultConsole.Format(v)) : "-")}</td>");
            }

            sb.Append("</tr>");
        }

        sb.Append("</table><div class=\"charts\">");
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

        sb.Append("</div>");
    }

    private static void Row(StringBuilder sb, string key, string value) =>
        sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{Svg.Esc(key)}</td><td>{Svg.Esc(value)}</td></tr>");
}
