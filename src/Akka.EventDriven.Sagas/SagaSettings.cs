using Akka.Actor;
using Akka.Configuration;

namespace Akka.EventDriven.Sagas;

/// <summary>Runtime settings of the saga orchestrator, read from <c>akka.event-driven.sagas</c>. Immutable; use the
/// <c>with</c> copies.</summary>
/// <param name="AskTimeout">How long calls wait for the saga entity. Default 10 s.</param>
/// <param name="PassivateAfterFinish">A finished saga's entity stops after this idle time. Default 5 s.</param>
/// <param name="ResumeInterval">How often every node wakes the running sagas of the index. Default 10 s.</param>
/// <param name="ResumeInitialDelay">Delay of the first sweep after start. Default 1 s.</param>
/// <param name="ResumeGrace">Age after which an index entry without a journal is dropped. Default 60 s.</param>
/// <param name="IndexTable">Table of running saga ids. Default <c>saga_index</c>.</param>
/// <param name="NumberOfShards">Shards of the saga region. Default 100.</param>
/// <param name="Role">Cluster role hosting sagas; null = every node.</param>
public sealed record SagaSettings(
    TimeSpan AskTimeout,
    TimeSpan PassivateAfterFinish,
    TimeSpan ResumeInterval,
    TimeSpan ResumeInitialDelay,
    TimeSpan ResumeGrace,
    string IndexTable,
    int NumberOfShards,
    string? Role)
{
    /// <summary>Config path of the settings.</summary>
    public const string ConfigPath = "akka.event-driven.sagas";

    /// <summary>Reads the settings of <paramref name="system"/>.</summary>
    public static SagaSettings Create(ActorSystem system) => Create(system.Settings.Config);

    /// <summary>Reads the settings from <paramref name="config"/> (falling back to the embedded reference.conf).</summary>
    public static SagaSettings Create(Config config)
    {
        var c = config.WithFallback(SagaConfig.DefaultConfig()).GetConfig(ConfigPath);
        var role = c.GetString("role");
        return new SagaSettings(
            c.GetTimeSpan("ask-timeout"),
            c.GetTimeSpan("passivate-after-finish"),
            c.GetTimeSpan("resume-interval"),
            c.GetTimeSpan("resume-initial-delay"),
            c.GetTimeSpan("resume-grace"),
            c.GetString("index-table"),
            c.GetInt("number-of-shards"),
            string.IsNullOrWhiteSpace(role) ? null : role).Validate();
    }

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the key when a value is out of range.</summary>
    public SagaSettings Validate()
    {
        void Fail(string what) => throw new ConfigurationException($"{ConfigPath}: {what}");
        if (AskTimeout <= TimeSpan.Zero) Fail("ask-timeout must be positive.");
        if (PassivateAfterFinish < TimeSpan.Zero) Fail("passivate-after-finish must not be negative.");
        if (ResumeInterval <= TimeSpan.Zero) Fail("resume-interval must be positive.");
        if (ResumeInitialDelay < TimeSpan.Zero) Fail("resume-initial-delay must not be negative.");
        if (ResumeGrace <= TimeSpan.Zero) Fail("resume-grace must be positive.");
        if (string.IsNullOrWhiteSpace(IndexTable) || !IndexTable.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_'))
            Fail($"index-table must be letters, digits or '_', was '{IndexTable}'.");
        if (NumberOfShards < 1) Fail("number-of-shards must be at least 1.");
        return this;
    }
}
