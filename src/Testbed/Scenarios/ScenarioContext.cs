using Testbed.Kernels;

namespace Testbed.Scenarios;

/// <summary>What a scenario runs with: the settings, the device to create accelerators on, and where to report progress.</summary>
public sealed class ScenarioContext(ScenarioSettings settings, Device device, Action<string>? status = null)
{
    /// <summary>The settings.</summary>
    public ScenarioSettings Settings { get; } = settings;

    /// <summary>The device every accelerator of the run is created on.</summary>
    public Device Device { get; } = device;

    /// <summary>The value of the scenario option <paramref name="name"/> (the CLI fills in defaults).</summary>
    public string Option(string name) => Settings.Options.TryGetValue(name, out var v) ? v : throw new ScenarioInputException($"option --{name} has no value");

    /// <summary>The value of <paramref name="option"/>, or its default when the settings leave it out.</summary>
    public string Option(ScenarioOption option)
    {
        ArgumentNullException.ThrowIfNull(option);
        return Settings.Options.TryGetValue(option.Name, out var v) ? v : option.Default;
    }

    /// <summary>Reports what the run is doing now (shown as progress on a terminal).</summary>
    public void Status(string text) => status?.Invoke(text);

    /// <summary>
    /// An accelerator on <see cref="Device"/> with the link <paramref name="coherence"/> asks for:
    /// <see cref="LinkCoherence.NonCoherent"/> turns on the Cpu/OpenCl link emulation;
    /// a request the accelerator cannot honour is a <see cref="ScenarioInputException"/>.
    /// </summary>
    public Accelerator CreateAccelerator(LinkCoherence coherence)
    {
        var acc = Device.CreateAccelerator();
        var problem = coherence switch
        {
            LinkCoherence.NonCoherent when acc is INonCoherentLinkEmulation link => Emulate(link),
            LinkCoherence.NonCoherent when acc.HostAtomicsCoherent => $"{Device.AcceleratorType} reports a coherent link and cannot emulate a non-coherent one",
            LinkCoherence.Coherent when !acc.HostAtomicsCoherent => $"{Device.AcceleratorType}'s link is not coherent (host-native atomics unsupported)",
            _ => null,
        };
        if (problem is not null)
        {
            acc.Dispose();
            throw new ScenarioInputException(problem);
        }

        return acc;
    }

    /// <summary>The link coherence of <paramref name="accelerator"/>, as the JSON names it.</summary>
    public static string Describe(Accelerator accelerator) =>
        accelerator is INonCoherentLinkEmulation { NonCoherentHostAtomics: true } || !accelerator.HostAtomicsCoherent ? "noncoherent" : "coherent";

    private static string? Emulate(INonCoherentLinkEmulation link)
    {
        link.NonCoherentHostAtomics = true;
        link.NonCoherentLinkDelaySpins = 2000;
        return null;
    }
}
