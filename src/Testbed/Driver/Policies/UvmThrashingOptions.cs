namespace Testbed.Driver.Policies;

/// <summary>
/// The tunables of NVIDIA UVM's thrashing detection (<c>uvm_perf_thrashing_*</c> module
/// parameters), with the defaults of DESIGN §4.4. <see cref="Validate"/> applies UVM's ranges.
/// </summary>
public sealed record UvmThrashingOptions
{
    /// <summary>Two events on a page closer than this count as thrashing (<c>lapse_usec</c>, 500 µs).</summary>
    public TimeSpan Lapse { get; init; } = TimeSpan.FromMicroseconds(500);

    /// <summary>Consecutive thrashing events before mitigation starts (<c>threshold</c>, 3; at most 7).</summary>
    public int Threshold { get; init; } = 3;

    /// <summary>How long a throttled processor stays off the page (<c>nap</c>, 500 µs).</summary>
    public TimeSpan Nap { get; init; } = TimeSpan.FromMicroseconds(500);

    /// <summary>Throttles before the page is pinned and mapped remotely (<c>pin_threshold</c>, 10; at most 255).</summary>
    public int PinThreshold { get; init; } = 10;

    /// <summary>How long a page stays pinned (<c>pin</c>, 150 ms).</summary>
    public TimeSpan Pin { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>Quiet time after which a page's thrashing state is reset (<c>epoch</c>, 1 s).</summary>
    public TimeSpan Epoch { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a page's state may be reset before it stays marked (<c>max_resets</c>, 4).</summary>
    public int MaxResets { get; init; } = 4;

    /// <summary>Null when every value is in UVM's range, else what is wrong.</summary>
    public string? Validate() =>
        Lapse <= TimeSpan.Zero ? "lapse must be positive"
        : Threshold is < 1 or > 7 ? $"threshold {Threshold} is outside [1, 7]"
        : Nap <= TimeSpan.Zero ? "nap must be positive"
        : PinThreshold is < 1 or > 255 ? $"pin threshold {PinThreshold} is outside [1, 255]"
        : Pin <= TimeSpan.Zero ? "pin must be positive"
        : Epoch <= TimeSpan.Zero ? "epoch must be positive"
        : MaxResets < 0 ? "max resets must not be negative"
        : null;
}
