using System.Globalization;
using System.Net;

namespace Testbed.Report;

/// <summary>Helpers the charts share: escaping, invariant-culture numbers, axis ticks, the location colours.</summary>
internal static class Svg
{
    /// <summary>Colours of <see cref="Results.ResidencyTimeline.Locations"/>, in the same order.</summary>
    public static readonly string[] LocationColours = ["#e5e7eb", "#2563eb", "#dc2626", "#9333ea", "#f59e0b", "#16a34a", "#0891b2", "#be185d"];

    /// <summary>Names of the locations, for legends.</summary>
    public static readonly string[] LocationNames = ["not mapped", "system", "device-private", "device-coherent", "device-exclusive", "device 2", "device 3", "device 4"];

    /// <summary>The smallest value an axis scales to: no metric the testbed records is meaningful below it, and far below it the tick arithmetic underflows.</summary>
    public const double Smallest = 1e-9;

    /// <summary>Series colours.</summary>
    public static readonly string[] Palette = ["#2563eb", "#dc2626", "#16a34a", "#f59e0b", "#9333ea", "#0891b2", "#be185d", "#4b5563"];

    public static string Esc(string text) => WebUtility.HtmlEncode(text);

    public static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A short label for an axis value (k, M; two significant digits below 0.01).</summary>
    public static string Short(double v) => Math.Abs(v) switch
    {
        >= 1e6 => $"{N(v / 1e6)}M",
        >= 1e3 => $"{N(v / 1e3)}k",
        < 0.01 and > 0 => v.ToString("G2", CultureInfo.InvariantCulture),
        _ => N(v),
    };

    /// <summary>
    /// About five round tick values from 0 to at least <paramref name="max"/>; a <paramref name="max"/>
    /// below <see cref="Smallest"/> (or not a positive number) draws on a 0..1 axis, as zero.
    /// </summary>
    public static double[] Ticks(double max)
    {
        if (!(max >= Smallest))
        {
            return [0, 1];
        }

        var step = Math.Pow(10, Math.Floor(Math.Log10(max / 5)));
        foreach (var m in new[] { 1, 2, 5, 10 })
        {
            if (max / (step * m) <= 5)
            {
                step *= m;
                break;
            }
        }

        var n = (int)Math.Ceiling(max / step);
        return [.. Enumerable.Range(0, n + 1).Select(i => i * step)];
    }

    /// <summary>The opening tag of a chart: the report's check counts these and what is drawn in them.</summary>
    public static string Open(string kind, int width, int height, string title) =>
        $"<svg class=\"chart\" data-chart=\"{kind}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{Esc(title)}\" xmlns=\"http://www.w3.org/2000/svg\">";

    /// <summary>A y axis with grid lines and labels, from <paramref name="top"/> to <paramref name="bottom"/> for values 0..ticks[^1].</summary>
    public static string YAxis(double[] ticks, double left, double right, double top, double bottom, string label)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var t in ticks)
        {
            var y = bottom - ((bottom - top) * t / ticks[^1]);
            sb.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{N(left)}\" x2=\"{N(right)}\" y1=\"{N(y)}\" y2=\"{N(y)}\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{N(left - 4)}\" y=\"{N(y + 4)}\" text-anchor=\"end\">{Short(t)}</text>");
        }

        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" transform=\"translate(12 {N((top + bottom) / 2)}) rotate(-90)\" text-anchor=\"middle\">{Esc(label)}</text>");
        return sb.ToString();
    }
}
