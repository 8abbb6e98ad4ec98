using Akka.Configuration;

namespace Akka.EventDriven.Projections.Tests;

/// <summary>The module's settings: reference.conf defaults, hosting options through the shared HOCON helper, values
/// refused by their key.</summary>
public sealed class ProjectionsSettingsSpec
{
    private static ProjectionsSettings Settings(ProjectionsOptions options) =>
        ProjectionsSettings.Create(ConfigurationFactory.ParseString(options.ToHocon()));

    [Fact]
    public void The_defaults_come_from_reference_conf_and_options_override_only_what_they_set()
    {
        Assert.Equal(new ProjectionsSettings(TimeSpan.FromMilliseconds(250), 500, TimeSpan.FromSeconds(10)),
            ProjectionsSettings.Create(ConfigurationFactory.Empty));
        var set = Settings(new ProjectionsOptions { RefreshInterval = TimeSpan.FromMilliseconds(40), BatchSize = 50 });
        Assert.Equal(new ProjectionsSettings(TimeSpan.FromMilliseconds(40), 50, TimeSpan.FromSeconds(10)), set);
        Assert.Equal(TimeSpan.FromSeconds(3), set.WithGapTimeout(TimeSpan.FromSeconds(3)).GapTimeout);
    }

    [Fact]
    public void A_bad_value_is_refused_naming_its_key()
    {
        var e = Assert.Throws<ConfigurationException>(() => Settings(new ProjectionsOptions { BatchSize = 0 }));
        Assert.Contains("akka.persistence.query.journal.event-driven.batch-size must be at least 1", e.Message);
        e = Assert.Throws<ConfigurationException>(() => ProjectionsSettings.Create(ConfigurationFactory.Empty).WithRefreshInterval(TimeSpan.Zero));
        Assert.Contains("refresh-interval must be positive", e.Message);
    }
}
