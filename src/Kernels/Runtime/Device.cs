namespace Testbed.Kernels;

/// <summary>
/// A device a <see cref="Context"/> found, with whether it can be used and, when not, why (the
/// missing library or the native error), so a user sees what to install instead of a crash.
/// </summary>
public sealed class Device
{
    private readonly Func<Device, Accelerator>? _create;

    internal Device(AcceleratorType type, string name, Func<Device, Accelerator>? create, string? unavailableReason)
    {
        AcceleratorType = type;
        Name = name;
        _create = create;
        UnavailableReason = create is null ? unavailableReason ?? "unavailable" : null;
    }

    /// <summary>The backend.</summary>
    public AcceleratorType AcceleratorType { get; }

    /// <summary>The device's name.</summary>
    public string Name { get; }

    /// <summary>Whether <see cref="CreateAccelerator"/> will work.</summary>
    public bool IsAvailable => _create is not null;

    /// <summary>Why the device cannot be used, or null.</summary>
    public string? UnavailableReason { get; }

    /// <summary>Creates an accelerator on the device.</summary>
    public Accelerator CreateAccelerator() =>
        _create is { } create ? create(this) : throw new InvalidOperationException($"{AcceleratorType} device '{Name}' is unavailable: {UnavailableReason}");

    /// <inheritdoc/>
    public override string ToString() => IsAvailable ? $"{AcceleratorType}: {Name}" : $"{AcceleratorType}: {Name} (unavailable: {UnavailableReason})";
}
