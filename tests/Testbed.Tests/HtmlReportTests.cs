using Testbed.Report;
using Testbed.Results;

namespace Testbed.Tests;

/// <summary>The HTML report drawn from values at the edges of what a result can hold: every chart is drawn, and no coordinate is NaN or infinite.</summary>
public sealed class HtmlReportTests
{
    [Theory]
    [InlineData(int.MaxValue, 1.5e6)]
    [InlineData(0, 5e-324)]
    [InlineData(7, double.Epsilon * 1e9)]
    [InlineData(3, 1e-12)]
    public void Extreme_counts_and_tiny_throughputs_draw_sensibly(int migrations, double throughput)
    {
        var sample = ResultJsonTests.Sample();
        var runs = sample.Scenarios[0].Runs; // the first alone, so its throughput sets the axis
        var doc = sample with
        {
            Scenarios =
            [
                sample.Scenarios[0] with
                {
                    Runs =
                    [
                        runs[0] with { MigrationsPerPage = [0, migrations, 1], Metrics = new Dictionary<string, Metric> { ["useful_ops_per_s"] = new(throughput, "ops/s") } },
                    ],
                },
            ],
        };

        var html = HtmlReport.Render(doc);
        Assert.DoesNotContain("NaN", html);
        Assert.DoesNotContain("Infinity", html);
        Assert.Contains("data-chart=\"histogram\"", html);
        Assert.InRange(html.Split("pages migrated").Length - 1, 1, 21);
    }

    /// <summary>
    /// A run rendered in-process (no JSON reader in between) whose x-axis setting is not a number is
    /// left out of the curve, never drawn at <c>x="NaN"</c>.
    /// </summary>
    [Fact]
    public void A_run_whose_axis_setting_is_not_a_number_is_left_out_of_the_curve()
    {
        var sample = ResultJsonTests.Sample();
        var scenario = sample.Scenarios[0];
        var runs = scenario.Runs.Select((r, i) => r with { Settings = new Dictionary<string, string> { ["ratio"] = i == 0 ? "NaN" : "2" } }).ToList();
        var doc = sample with { Scenarios = [scenario with { Parameters = new Dictionary<string, string> { ["x_axis"] = "ratio", ["curves"] = "useful_ops_per_s" }, Runs = runs }] };
        var html = HtmlReport.Render(doc);
        Assert.Contains("data-chart=\"line\"", html);
        Assert.DoesNotContain("NaN", html);
    }
}
