using System.Globalization;
using System.Text;

namespace Testbed.Report;

/// <summary>Vertical bars, one per labelled value (throughput by policy).</summary>
internal static class BarChart
{
    public static string Render(string title, string unit, IReadOnlyList<(string Label, double Value)> bars)
    {
        const int Width = 640, Height = 300, Left = 70, Right = 20, Top = 30, Bottom = 250;
        var ticks = Svg.Ticks(bars.Count == 0 ? 1 : bars.Max(b => b.Value));
        var sb = new StringBuilder(Svg.Open("bar", Width, Height, title));
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"title\" x=\"{Width / 2}\" y=\"18\" text-anchor=\"middle\">{Svg.Esc(title)}</text>");
        sb.Append(Svg.YAxis(ticks, Left, Width - Right, Top, Bottom, unit));
        var slot = (Width - Left - Right) / (double)Math.Max(1, bars.Count);
        for (var i = 0; i < bars.Count; i++)
        {
            var (label, value) = bars[i];
            var h = (Bottom - Top) * value / ticks[^1];
            var x = Left + (i * slot) + (slot * 0.15);
            sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"mark\" x=\"{Svg.N(x)}\" y=\"{Svg.N(Bottom - h)}\" width=\"{Svg.N(slot * 0.7)}\" height=\"{Svg.N(Math.Max(h, 0.5))}\" fill=\"{Svg.Palette[i % Svg.Palette.Length]}\"><title>{Svg.Esc($"{label}: {Svg.Short(value)} {unit}")}</title></rect>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{Svg.N(x + (slot * 0.35))}\" y=\"{Bottom + 16}\" text-anchor=\"middle\">{Svg.Esc(label)}</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"value\" x=\"{Svg.N(x + (slot * 0.35))}\" y=\"{Svg.N(Bottom - h - 4)}\" text-anchor=\"middle\">{Svg.Short(value)}</text>");
        }

        return sb.Append("</svg>").ToString();
    }
}
