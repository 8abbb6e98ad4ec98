using System.Text.Json.Nodes;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.Contracts.Tests;

public sealed class DecisionSpec
{
    [Fact]
    public void Reject_requires_a_reason_and_raises_nothing()
    {
        Assert.Throws<ArgumentException>(() => Decision.Reject(" "));
        var d = Decision.Reject("no");
        Assert.True(d.IsRejected);
        Assert.Empty(d.Events);
    }

    [Fact]
    public void Raise_keeps_event_order_and_refuses_null_events()
    {
        var d = Decision.Raise("a", "b");
        Assert.False(d.IsRejected);
        Assert.Equal(["a", "b"], d.Events);
        Assert.Throws<ArgumentException>(() => Decision.Raise("a", null!));
    }
}
