using System.Globalization;
using System.Text;

namespace Testbed.Report;

/// <summary>
/// One or more series of (x, y) points joined by lines (throughput vs oversubscription). An x axis
/// of positive values spanning two decades or more (pages 1K to 1M, copy sizes 4 KiB to 64 MiB) is
/// drawn on a log scale, so that the small sizes are not crowded into the first pixels; the axis
/// label says so. A point that is not a finite number on both axes is left out, never drawn at NaN.
/// </summary>
internal static class LineChart
{
    public static string Render(string title, string xLabel, string yLabel, IReadOnlyList<(string Name, IReadOnlyList<(double X, double Y)> Points)> series)
    {
        series = [.. series.Select(s => (s.Name, (IReadOnlyList<(double X, double Y)>)[.. s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y))]))];
        const int Width = 640, Height = 300, Left = 70, Right = 120, Top = 30, Bottom = 250;
        var xs = series.SelectMany(s => s.Points).Select(p => p.X).DefaultIfEmpty(1).ToList();
        var log = xs.Min() > 0 && xs.Max() / xs.Min() >= 100;
        double Scale(double x) => log ? Math.Log10(x) : x;
        var (xMin, xMax) = (Scale(xs.Min()), Scale(xs.Max()));
        xMax = xMax > xMin ? xMax : xMin + 1;
        xLabel = log ? $"{xLabel} (log scale)" : xLabel;
        var ticks = Svg.Ticks(series.SelectMany(s => s.Points).Select(p => p.Y).DefaultIfEmpty(1).Max());
        double X(double x) => Left + ((Width - Left - Right) * (Scale(x) - xMin) / (xMax - xMin));
        double Y(double y) => Bottom - ((Bottom - Top) * y / ticks[^1]);
        var sb = new StringBuilder(Svg.Open("line", Width, Height, title));
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"title\" x=\"{(Width - Right + Left) / 2}\" y=\"18\" text-anchor=\"middle\">{Svg.Esc(title)}</text>");
        sb.Append(Svg.YAxis(ticks, Left, Width - Right, Top, Bottom, yLabel));
        foreach (var x in xs.Distinct())
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{Svg.N(X(x))}\" y=\"{Bottom + 16}\" text-anchor=\"middle\">{Svg.N(x)}</text>");
        }

        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{(Width - Right + Left) / 2}\" y=\"{Height - 8}\" text-anchor=\"middle\">{Svg.Esc(xLabel)}</text>");
        for (var i = 0; i < series.Count; i++)
        {
            var colour = Svg.Palette[i % Svg.Palette.Length];
            var points = series[i].Points.OrderBy(p => p.X).ToList();
            sb.Append(CultureInfo.InvariantCulture, $"<path class=\"mark\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" d=\"{string.Join(' ', points.Select((p, j) => $"{(j == 0 ? 'M' : 'L')}{Svg.N(X(p.X))},{Svg.N(Y(p.Y))}"))}\"/>");
            foreach (var p in points)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<circle class=\"mark\" cx=\"{Svg.N(X(p.X))}\" cy=\"{Svg.N(Y(p.Y))}\" r=\"4\" fill=\"{colour}\"><title>{Svg.Esc($"{series[i].Name}: {Svg.N(p.X)} -> {Svg.Short(p.Y)}")}</title></circle>");
            }

            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Width - Right + 10}\" y=\"{Top + (i * 18)}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text class=\"tick\" x=\"{Width - Right + 24}\" y=\"{Top + (i * 18) + 9}\">{Svg.Esc(series[i].Name)}</text>");
        }

        return sb.Append("</svg>").ToString();
    }
}
