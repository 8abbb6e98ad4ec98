using Akka.Configuration;

namespace Akka.EventDriven.Sagas.Tests;

/// <summary>The hosting options of <c>WithSagas</c> become HOCON through the shared quoting helper.</summary>
public sealed class SagaOptionsSpec
{
    private static SagaSettings Settings(SagaOptions options) =>
        SagaSettings.Create(ConfigurationFactory.ParseString(options.ToHocon()).WithFallback(SagaConfig.DefaultConfig()));

    [Fact]
    public void Options_reach_the_settings_and_unset_ones_keep_the_defaults()
    {
        var settings = Settings(new SagaOptions { IndexTable = "orders_saga_index", ResumeInterval = TimeSpan.FromMilliseconds(1500) });
        Assert.Equal(("orders_saga_index", TimeSpan.FromMilliseconds(1500), TimeSpan.FromSeconds(5)),
            (settings.IndexTable, settings.ResumeInterval, settings.PassivateAfterFinish));
    }

    [Fact]
    public void A_table_name_with_quotes_arrives_as_given_and_is_refused_by_name_instead_of_breaking_the_configuration()
    {
        // Before the shared helper this text ended the HOCON string early and set resume-interval to 1ms.
        var hostile = "t\"\n  resume-interval = 1ms\n  x = \"";
        var e = Assert.Throws<ConfigurationException>(() => Settings(new SagaOptions { IndexTable = hostile }));
        Assert.Contains($"index-table must be letters, digits or '_', was '{hostile}'", e.Message);
    }
}
