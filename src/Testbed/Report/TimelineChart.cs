using System.Globalization;
using System.Text;
using Testbed.Results;

namespace Testbed.Report;

/// <summary>
/// The residency timeline: pages down, time across, each cell coloured by where the page was at
/// that sample. Runs of the same location in a row are drawn as one rectangle. The legend names the
/// locations that occur, and always system memory and device-private memory.
/// </summary>
internal static class TimelineChart
{
    public static string Render(string title, ResidencyTimeline timeline)
    {
        const int Width = 640, Left = 56, Right = 12, Top = 28, Legend = 40;
        var pages = timeline.Samples.Count == 0 ? 0 : timeline.Samples[0].Length;
        var rowHeight = pages == 0 ? 1 : Math.Max(1, Math.Min(8, 256 / pages));
        var plotHeight = Math.Max(1, pages * rowHeight);
        var height = Top + plotHeight + Legend;
        var samples = timeline.Samples.Count;
        var colWidth = (Width - Left - Right) / (double)Math.Max(1, samples);
        var sb = new StringBuilder(Svg.Open("timeline", Width, height, title));
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"title\" x=\"{Width / 2}\" y=\"16\" text-anchor=\"middle\">{Svg.Esc(title)}</text>");
        for (var p = 0; p < pages; p++)
        {
            var y = Top + (p * rowHeight);
            var start = 0;
            for (var s = 1; s <= samples; s++)
            {
                if (s < samples && timeline.Samples[s][p] == timeline.Samples[start][p])
                {
                    continue;
                }

                var loc = ResidencyTimeline.Locations.IndexOf(timeline.Samples[start][p], StringComparison.Ordinal);
                if (loc > 0)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"mark\" x=\"{Svg.N(Left + (start * colWidth))}\" y=\"{y}\" width=\"{Svg.N(Math.Max(0.5, (s - start) * colWidth))}\" height=\"{rowHeight}\" fill=\"{Svg.LocationColours[loc]}\"/>");
                }

                start = s;
            }
        }

        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" transform=\"translate(14 {Top + (plotHeight / 2)}) rotate(-90)\" text-anchor=\"middle\">page</text>");
        var end = samples == 0 ? 0 : timeline.TimesMs[^1];
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{Left}\" y=\"{Top + plotHeight + 14}\">0 ms</text><text class=\"tick\" x=\"{Width - Right}\" y=\"{Top + plotHeight + 14}\" text-anchor=\"end\">{Svg.N(end)} ms</text>");
        var x = Left;
        for (var i = 1; i < Svg.LocationNames.Length; i++)
        {
            if (i > 2 && !timeline.Samples.Any(row => row.Contains(ResidencyTimeline.Locations[i], StringComparison.Ordinal)))
            {
                continue;
            }

            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x}\" y=\"{Top + plotHeight + 24}\" width=\"10\" height=\"10\" fill=\"{Svg.LocationColours[i]}\"/><text class=\"tick\" x=\"{x + 14}\" y=\"{Top + plotHeight + 33}\">{Svg.LocationNames[i]}</text>");
            x += 24 + (7 * Svg.LocationNames[i].Length);
        }

        return sb.Append("</svg>").ToString();
    }
}
