using System.Globalization;
using System.Text;

namespace Testbed.Report;

/// <summary>How many pages migrated how often: bars over at most 20 bins of the migrations-per-page counts, however large the counts.</summary>
internal static class HistogramChart
{
    private const int MaxBins = 20;

    public static string Render(string title, IReadOnlyList<int> perPage)
    {
        const int Width = 420, Height = 240, Left = 56, Right = 12, Top = 28, Bottom = 196;
        var max = perPage.Count == 0 ? 0L : perPage.Max();
        var binWidth = Math.Max(1L, (long)Math.Ceiling((max + 1) / (double)MaxBins));
        var bins = new int[(max / binWidth) + 1];
        foreach (var n in perPage)
        {
            bins[n / binWidth]++;
        }

        var ticks = Svg.Ticks(bins.Max());
        var sb = new StringBuilder(Svg.Open("histogram", Width, Height, title));
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"title\" x=\"{Width / 2}\" y=\"16\" text-anchor=\"middle\">{Svg.Esc(title)}</text>");
        sb.Append(Svg.YAxis(ticks, Left, Width - Right, Top, Bottom, "pages"));
        var slot = (Width - Left - Right) / (double)bins.Length;
        for (var i = 0; i < bins.Length; i++)
        {
            var h = (Bottom - Top) * bins[i] / ticks[^1];
            var label = binWidth == 1 ? $"{i}" : $"{i * binWidth}-{((i + 1) * binWidth) - 1}";
            sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"mark\" x=\"{Svg.N(Left + (i * slot) + 1)}\" y=\"{Svg.N(Bottom - h)}\" width=\"{Svg.N(Math.Max(1, slot - 2))}\" height=\"{Svg.N(Math.Max(h, 0.5))}\" fill=\"#2563eb\"><title>{bins[i]} pages migrated {label} times</title></rect>");
            if (bins.Length <= 10 || i % 2 == 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{Svg.N(Left + ((i + 0.5) * slot))}\" y=\"{Bottom + 14}\" text-anchor=\"middle\">{label}</text>");
            }
        }

        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{Svg.N((Left + Width - Right) / 2.0)}\" y=\"{Height - 6}\" text-anchor=\"middle\">migrations per page</text>");
        return sb.Append("</svg>").ToString();
    }
}
