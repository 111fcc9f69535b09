using System.Diagnostics;
using Testbed.Report;
using Testbed.Results;

namespace Testbed.Tests;

/// <summary>
/// The HTML report rendered by a real browser: headless Chromium (Debian's <c>chromium</c>; the test
/// script installs it) loads the file with the network off, runs the report's own check, and the
/// test reads back how many charts were drawn and whether the page logged any error.
/// </summary>
public sealed class HtmlReportBrowserTests
{
    [ChromiumFact]
    public void Chromium_draws_every_chart_and_logs_no_error()
    {
        var dir = Directory.CreateTempSubdirectory("testbed-report-");
        try
        {
            var json = Path.Combine(dir.FullName, "r.json");
            var (code, output, error) = CliTests.Testbed("run", "oversubscription", "--pages", "16", "--rounds", "1", "--ratios", "0.5,1,2", "--json", json);
            Assert.True(code == 0, output + error);
            var doc = ResultJson.Read(File.ReadAllText(json));
            var sample = ResultJsonTests.Sample();
            var both = doc with { Scenarios = [.. doc.Scenarios, .. sample.Scenarios] };
            var html = Path.Combine(dir.FullName, "report.html");
            File.WriteAllText(html, HtmlReport.Render(both));

            var (dom, log) = Chromium.DumpDom(html, dir.FullName);
            Assert.Contains("data-charts=\"5\"", dom);
            Assert.Contains("data-charts-drawn=\"5\"", dom);
            Assert.DoesNotContain("chart not drawn", log);
            Assert.DoesNotContain("Uncaught", log);
            Assert.DoesNotContain(":ERROR:CONSOLE", log);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

/// <summary>
/// The report as a person at a 1400 x 900 window sees it: a failure in the last scenario, behind
/// dozens of held invariants and a metrics table of 40 long-named metrics over 12 runs, is on the
/// first screen, and the page does not scroll sideways.
/// </summary>
public sealed class HtmlReportLayoutTests
{
    [ChromiumFact]
    public void Failures_are_on_the_first_screen_and_the_page_never_scrolls_sideways_at_1400_px()
    {
        var dir = Directory.CreateTempSubdirectory("testbed-layout-");
        try
        {
            var sample = ResultJsonTests.Sample();
            var runs = Enumerable.Range(0, 12).Select(r => new PolicyRun
            {
                Name = $"policy-with-a-long-name-{r}",
                Policy = "migrate",
                Metrics = Enumerable.Range(0, 40).ToDictionary(m => $"a_metric_with_a_rather_long_name_{m}", m => new Metric(123456789.0 * (m + 1), "ops/s")),
                Invariants = [.. new[] { "frames_balanced", "notifiers_removed", "lockdep_silent", "totals_exact", "no_errors", "progress" }.Select(n => new Invariant(n, true, $"{n}: {new string('x', 120)}"))],
            }).ToList();
            var wide = new ScenarioResult("wide", new Dictionary<string, string> { ["pages"] = "1024" }, runs);
            var doc = sample with { Scenarios = [wide, wide with { Scenario = "wide-again" }, .. sample.Scenarios] };
            var html = Path.Combine(dir.FullName, "report.html");
            File.WriteAllText(html, HtmlReport.Render(doc));

            var (dom, log) = Chromium.DumpDom(html, dir.FullName);
            int Attribute(string name) => int.Parse(System.Text.RegularExpressions.Regex.Match(dom, $"{name}=\"(\\d+)\"").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(1400, Attribute("data-view-width"));
            Assert.True(Attribute("data-scroll-width") <= Attribute("data-view-width"), $"the page scrolls sideways: {Attribute("data-scroll-width")} px wide in a {Attribute("data-view-width")} px view");
            Assert.True(Attribute("data-first-failure-bottom") <= Attribute("data-view-height"), $"the first failure ends at {Attribute("data-first-failure-bottom")} px, below the first screen ({Attribute("data-view-height")} px)");
            Assert.DoesNotContain("Uncaught", log);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

/// <summary>Finds and drives headless Chromium.</summary>
internal static class Chromium
{
    public static string? Path { get; } = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);

    /// <summary>Loads <paramref name="html"/> in a 1400 x 900 window and returns the DOM after scripts ran, and the browser's log.</summary>
    public static (string Dom, string Log) DumpDom(string html, string profileDir)
    {
        var psi = new ProcessStartInfo(Path!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0", $"--user-data-dir={profileDir}/profile", "--proxy-server=127.0.0.1:9", "--window-size=1400,900", "--hide-scrollbars", "--virtual-time-budget=2000", "--dump-dom", new Uri(html).AbsoluteUri })
        {
            psi.ArgumentList.Add(arg);
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var dom = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), "chromium did not finish within 60 s");
        return (dom, stderr.Result);
    }
}

/// <summary>A fact that runs where headless Chromium is installed, and says why it skipped otherwise.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Path is null)
        {
            Skip = "no chromium: install Debian's 'chromium' package (scripts/test.sh does, as root)";
        }
    }
}
