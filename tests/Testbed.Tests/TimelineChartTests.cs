using Testbed.Driver;
using Testbed.Report;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Tests;

/// <summary>
/// The residency timeline with several devices: the sampler says which device's private memory a
/// page is in, and the chart colours and names each device that occurs.
/// </summary>
public sealed class TimelineChartTests
{
    [Fact]
    public void The_sampler_names_the_device_whose_memory_holds_the_page()
    {
        PageSnapshot[][] devices =
        [
            [PageSnapshot.DevicePrivateLocal, PageSnapshot.None, PageSnapshot.Read | PageSnapshot.Write, PageSnapshot.None, PageSnapshot.None],
            [PageSnapshot.None, PageSnapshot.DevicePrivateLocal, PageSnapshot.None, PageSnapshot.None, PageSnapshot.None],
            [PageSnapshot.None, PageSnapshot.None, PageSnapshot.None, PageSnapshot.DevicePrivateLocal, PageSnapshot.None],
        ];

        Assert.Equal("d2s3.", new string([.. Enumerable.Range(0, 5).Select(p => PingpongScenario.Where(devices, p, entry: 0))]));
    }

    [Fact]
    public void The_legend_names_the_other_devices_only_when_a_page_was_in_their_memory()
    {
        var two = TimelineChart.Render("two devices", new ResidencyTimeline([0, 2], ["d2s", "2ds"]));
        Assert.Contains("device 2", two, StringComparison.Ordinal);
        Assert.Contains($"fill=\"{Svg.LocationColours[ResidencyTimeline.Locations.IndexOf('2', StringComparison.Ordinal)]}\"", two, StringComparison.Ordinal);
        Assert.DoesNotContain("device 3", two, StringComparison.Ordinal);

        var one = TimelineChart.Render("one device", new ResidencyTimeline([0, 2], ["dds", "sds"]));
        Assert.Contains("device-private", one, StringComparison.Ordinal);
        Assert.DoesNotContain("device 2", one, StringComparison.Ordinal);
        Assert.DoesNotContain("device-exclusive", one, StringComparison.Ordinal);
    }
}
