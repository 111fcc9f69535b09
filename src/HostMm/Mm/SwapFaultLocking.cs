namespace Testbed.HostMm.Mm;

/// <summary>How <c>DoSwapPage</c> treats the device-private page a CPU faulted on.</summary>
public enum SwapFaultLocking
{
    /// <summary>
    /// The fixed kernel (2024–2026): trylock the page, then take a reference and call
    /// <c>migrate_to_ram</c>, unlocking before the put; a fault that finds the page locked waits for
    /// the unlock without holding a reference and retries, so concurrent faults cannot pile up
    /// references that make the one migration in progress fail.
    /// </summary>
    Locked,

    /// <summary>
    /// The older behaviour: every faulting thread takes a reference and calls
    /// <c>migrate_to_ram</c> with the page unlocked. Each thread's reference is an "extra reference"
    /// that fails the others' migrations: seed 001's livelock.
    /// </summary>
    Legacy,
}
