namespace Testbed.Results;

/// <summary>
/// Where each page was at sampled times: one string per sample, one character per page
/// (<see cref="Locations"/> says what each means), so a timeline of a thousand pages stays small in
/// the JSON and the report draws it as page x time.
/// </summary>
public sealed record ResidencyTimeline(IReadOnlyList<double> TimesMs, IReadOnlyList<string> Samples)
{
    /// <summary>
    /// The location characters: not mapped, system memory, device-private memory (of the first or
    /// only device), device-coherent, device-exclusive, then device-private memory of devices 2, 3
    /// and 4 (a run with several devices, such as <c>pingpong --devices</c>).
    /// </summary>
    public const string Locations = ".sdcx234";
}
