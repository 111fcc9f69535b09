namespace Testbed.Scenarios;

/// <summary>
/// Whether device atomics on system memory are atomic with respect to the CPU. <see cref="Native"/>
/// takes what the accelerator reports; <see cref="NonCoherent"/> asks the Cpu or OpenCl accelerator
/// to emulate a PCIe-like link (<c>INonCoherentLinkEmulation</c>).
/// </summary>
public enum LinkCoherence
{
    /// <summary>Whatever the accelerator has (the Cpu accelerator: coherent).</summary>
    Native,

    /// <summary>Require a coherent link.</summary>
    Coherent,

    /// <summary>Require a non-coherent link, emulated where the hardware is coherent.</summary>
    NonCoherent,
}
