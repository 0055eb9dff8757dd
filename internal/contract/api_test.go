package contract

import (
	"reflect"
	"testing"
)

func TestInOrderKeepsTheOrderAskedAndListsTheMissing(t *testing.T) {
	found := map[string]int{"b": 2, "a": 1}
	values, missing := InOrder([]string{"b", "x", "a", "y"}, found)
	if !reflect.DeepEqual(values, []int{2, 1}) || !reflect.DeepEqual(missing, []string{"x", "y"}) {
		t.Errorf("InOrder = %v, %v", values, missing)
	}
	values, missing = InOrder[int](nil, nil)
	if values == nil || missing == nil || len(values)+len(missing) != 0 {
		t.Errorf("empty batch must give empty, non-nil lists (JSON []): %v %v", values, missing)
	}
}
