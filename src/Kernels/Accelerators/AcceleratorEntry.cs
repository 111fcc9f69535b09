using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Accelerators;

/// <summary>
/// One accelerator the catalog found: its kind and name, and either a way to create a runner on it
/// or the reason it cannot be used (the missing library, or ILGPU's own refusal), so a user sees
/// what to install or which device to use instead of a crash.
/// </summary>
public sealed class AcceleratorEntry
{
    private readonly Func<KernelRunner>? _create;

    internal AcceleratorEntry(AcceleratorKind kind, string name, string note, Func<KernelRunner>? create, string? unavailableReason)
    {
        Kind = kind;
        Name = name;
        Note = note;
        _create = create;
        UnavailableReason = create is null ? unavailableReason ?? "unavailable" : null;
    }

    /// <summary>The kind.</summary>
    public AcceleratorKind Kind { get; }

    /// <summary>The device's name.</summary>
    public string Name { get; }

    /// <summary>What a user should know about it (how it runs, what it costs).</summary>
    public string Note { get; }

    /// <summary>Whether <see cref="CreateRunner"/> will work.</summary>
    public bool IsAvailable => _create is not null;

    /// <summary>Why the accelerator cannot be used, or null.</summary>
    public string? UnavailableReason { get; }

    /// <summary>A runner on this accelerator; <see cref="InvalidOperationException"/> with the reason when it is unavailable.</summary>
    public KernelRunner CreateRunner() =>
        _create is { } create ? create() : throw new InvalidOperationException($"{Kind.Name()} '{Name}' is unavailable: {UnavailableReason}");

    /// <inheritdoc/>
    public override string ToString() => IsAvailable ? $"{Kind.Name()}: {Name}" : $"{Kind.Name()}: {Name} (unavailable: {UnavailableReason})";
}
