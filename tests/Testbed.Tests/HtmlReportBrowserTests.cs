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

/// <summary>Finds and drives headless Chromium.</summary>
internal static class Chromium
{
    public static string? Path { get; } = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);

    /// <summary>Loads <paramref name="html"/> and returns the DOM after scripts ran, and the browser's log.</summary>
    public static (string Dom, string Log) DumpDom(string html, string profileDir)
    {
        var psi = new ProcessStartInfo(Path!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0", $"--user-data-dir={profileDir}/profile", "--proxy-server=127.0.0.1:9", "--virtual-time-budget=2000", "--dump-dom", new Uri(html).AbsoluteUri })
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
